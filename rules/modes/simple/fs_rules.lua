-- simple: a minimal cross-compilation view. Programs come from the host;
-- headers and libraries come from the target root (read-only unless root
-- is simulated). The host's /tmp, /home and everything else stay as they are.
rule_file_interface_version = "105"

local ro = readonly_fs_if_not_root

fs_mapping_rules = {
	{ rules = import_from_fs_rule_library("sb2_own"), dir = "/" },
	{ rules = import_from_fs_rule_library("toolchain"), dir = "/" },
	{ dir = "/proc", rules = import_from_fs_rule_library("proc") },
	{ dir = "/dev", rules = import_from_fs_rule_library("dev") },
	{ dir = "/sys", rules = import_from_fs_rule_library("sys") },

	-- Headers always come from the target.
	{ dir = "/usr/include", map_to = target_root, protection = ro },

	-- The host compiler's private files and the host interpreters' libraries
	-- must stay the host's, or the host tools themselves break.
	{ dir = "/usr/lib/gcc", use_orig_path = true },
	{ prefix = "/usr/lib/python", use_orig_path = true },
	{ dir = "/usr/lib/perl", use_orig_path = true },
	{ prefix = "/usr/lib/perl5", use_orig_path = true },
	{ dir = "/usr/lib/git-core", use_orig_path = true },
	{ dir = "/usr/lib/locale", use_orig_path = true },

	-- Libraries: the target's; a file the target lacks is the host's, so
	-- host tools can still load their own plugins.
	{ dir = "/usr/lib", actions = {
		{ if_exists_then_map_to = target_root, protection = ro },
		{ use_orig_path = true },
	} },
	{ dir = "/lib", actions = {
		{ if_exists_then_map_to = target_root, protection = ro },
		{ use_orig_path = true },
	} },
	{ dir = "/lib64", actions = {
		{ if_exists_then_map_to = target_root, protection = ro },
		{ use_orig_path = true },
	} },

	-- A program the host lacks is the target's (run through qemu): the
	-- build's tools stay the host's, yet `sb2 -t T prog` runs what the
	-- target has installed.
	{ dir = "/usr/bin", func_class = FUNC_CLASS_EXEC, actions = {
		{ if_exists_then_map_to = "/" },
		{ if_exists_then_map_to = target_root, protection = ro },
		{ use_orig_path = true },
	} },
	{ dir = "/usr/sbin", func_class = FUNC_CLASS_EXEC, actions = {
		{ if_exists_then_map_to = "/" },
		{ if_exists_then_map_to = target_root, protection = ro },
		{ use_orig_path = true },
	} },

	-- Everything else is the host's.
	{ dir = "/", use_orig_path = true },
}

-- The package database is the target's when it has one: dpkg -S, dpkg -l
-- and dpkg-shlibdeps answer about the libraries the build links with
-- (dpkg-checkbuilddeps is sb2's, which also asks the host's, for tools).
local status = io.open(target_root .. "/var/lib/dpkg/status", "rb")
if status and target_root ~= "/" then
	status:close()
	table.insert(fs_mapping_rules, #fs_mapping_rules,
		{ dir = "/var/lib/dpkg", map_to = target_root, protection = ro })
end
