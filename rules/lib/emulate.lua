-- The emulate view (see modes/emulate/fs_rules.lua), shared by the
-- emulate and emulate+toolchain modes: the target root as "/".
fs_rule_lib_interface_version = "105"

return import_from_fs_rule_library("root_view")(target_root, {
	-- Name resolution uses the host's network configuration.
	{ path = "/etc/resolv.conf", force_orig_path = true },
})
