-- emulate: the target root is the whole file system, as on the target
-- device. It is read-only unless root is simulated (sb2 -R), so a build
-- cannot damage the root file system by accident. The directory sb2 was
-- started in and $HOME stay the host's (that is where the sources are);
-- /tmp and /var/tmp are private to the session.
rule_file_interface_version = "105"

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
fs_mapping_rules = rules
