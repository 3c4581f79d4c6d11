-- accel (alias devel): for a tools root and a target root that are twins
-- (the same distribution, host and target architecture). Programs run from
-- the tools root (host architecture, fast), headers and libraries come from
-- the target. Without a tools root, the host is the tools.
rule_file_interface_version = "105"

local ro = readonly_fs_if_not_root
local tools_first = {
	{ if_exists_then_map_to = tools, protection = ro },
	{ map_to = target_root, protection = ro },
}
local target_first = {
	{ if_exists_then_map_to = target_root, protection = ro },
	{ if_exists_then_map_to = tools, protection = ro },
	{ map_to = target_root, protection = ro },
}

fs_mapping_rules = {
	{ rules = import_from_fs_rule_library("sb2_own"), dir = "/" },
	{ rules = import_from_fs_rule_library("toolchain"), dir = "/" },
	{ dir = sbox_workdir, use_orig_path = true },
	{ dir = "/proc", rules = import_from_fs_rule_library("proc") },
	{ dir = "/", rules = import_from_fs_rule_library("private_tmp") },
	{ dir = "/dev", rules = import_from_fs_rule_library("dev") },
	{ dir = "/sys", rules = import_from_fs_rule_library("sys") },
	{ dir = "/home", use_orig_path = true },
	{ path = "/etc/resolv.conf", force_orig_path = true },
	{ path = "/etc/passwd", use_orig_path = true },
	{ path = "/etc/group", use_orig_path = true },
	{ path = "/etc/shadow", use_orig_path = true },
	-- The real target root, by name.
	{ dir = "/target_root", replace_by = target_root, protection = ro },

	-- Target headers and development files.
	{ dir = "/usr/include", map_to = target_root, protection = ro },
	{ dir = "/usr/src", map_to = target_root, protection = ro },
	-- Listings merge both roots, so pkg-config and aclocal see everything.
	{ path = "/usr/share/aclocal", union_dir = { target_root .. "/usr/share/aclocal", tools .. "/usr/share/aclocal" } },
	{ path = "/usr/share/pkgconfig", union_dir = { target_root .. "/usr/share/pkgconfig", tools .. "/usr/share/pkgconfig" } },
	{ path = "/usr/lib/pkgconfig", union_dir = { target_root .. "/usr/lib/pkgconfig", tools .. "/usr/lib/pkgconfig" } },

	-- Programs and their private files from the tools.
	{ dir = "/bin", actions = tools_first },
	{ dir = "/sbin", actions = tools_first },
	{ dir = "/usr/bin", actions = tools_first },
	{ dir = "/usr/sbin", actions = tools_first },
	{ dir = "/usr/libexec", actions = tools_first },
	{ dir = "/usr/lib/gcc", actions = tools_first },
	{ prefix = "/usr/lib/python", actions = tools_first },
	{ dir = "/usr/lib/perl", actions = tools_first },
	{ prefix = "/usr/lib/perl5", actions = tools_first },
	{ dir = "/usr/share/perl", actions = tools_first },
	{ prefix = "/usr/share/perl5", actions = tools_first },

	-- Libraries, data and configuration: the target's first.
	{ dir = "/lib", actions = target_first },
	{ dir = "/lib64", actions = target_first },
	{ dir = "/usr", actions = target_first },
	{ dir = "/etc", actions = target_first },
	{ dir = "/var/lib", map_to = target_root, protection = ro },

	{ dir = "/", use_orig_path = true },
}
