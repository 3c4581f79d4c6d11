-- The emulate view (see modes/emulate/fs_rules.lua), shared by the
-- emulate and emulate+toolchain modes.
fs_rule_lib_interface_version = "105"
local ro = readonly_fs_if_not_root

local rules = {
	{ rules = import_from_fs_rule_library("sb2_own"), dir = "/" },
	{ dir = sbox_workdir, use_orig_path = true },
}
if sbox_user_home_dir and sbox_user_home_dir ~= "/" then
	table.insert(rules, { dir = sbox_user_home_dir, use_orig_path = true })
end
for _, r in ipairs({
	{ dir = "/proc", rules = import_from_fs_rule_library("proc") },
	{ dir = "/", rules = import_from_fs_rule_library("private_tmp") },
	{ dir = "/dev", rules = import_from_fs_rule_library("dev") },
	{ dir = "/sys", rules = import_from_fs_rule_library("sys") },
	-- Name resolution uses the host's network configuration.
	{ path = "/etc/resolv.conf", force_orig_path = true },
	-- Everything else is the target's.
	{ dir = "/", map_to = target_root, protection = ro },
}) do
	table.insert(rules, r)
end
return rules
