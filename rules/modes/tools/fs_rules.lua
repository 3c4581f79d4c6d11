-- tools: run things from the tools root (a host-architecture distribution,
-- sb2-init -t), e.g. host-arch dpkg for build-dependency checks. Without a
-- tools root nothing is mapped.
rule_file_interface_version = "105"

if not tools_root then
	fs_mapping_rules = { { dir = "/", use_orig_path = true } }
	return
end

fs_mapping_rules = import_from_fs_rule_library("root_view")(tools_root, {
	{ path = "/etc/passwd", use_orig_path = true },
	{ path = "/etc/group", use_orig_path = true },
	{ path = "/etc/resolv.conf", force_orig_path = true },
	{ path = "/var/lib/dpkg/status", actions = {
		{ if_env_var_is_not_empty = "SBOX_TOOLS_MODE_VAR_LIB_DPKG_STATUS_LOCATION",
		  replace_by_value_of_env_var = "SBOX_TOOLS_MODE_VAR_LIB_DPKG_STATUS_LOCATION" },
		{ map_to = tools_root, protection = readonly_fs_if_not_root },
	} },
})
