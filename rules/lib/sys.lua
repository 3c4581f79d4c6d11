-- /sys: the host's, but SELinux is hidden (a build must not think it runs
-- on an SELinux system because the host does), and setting times is
-- redirected to a dummy file.
fs_rule_lib_interface_version = "105"
return {
	{ dir = "/sys/fs/selinux", replace_by = session_dir .. "/no-selinux", virtual_path = true },
	{ dir = "/sys", func_class = FUNC_CLASS_SET_TIMES, set_path = session_dir .. "/dummy_file", virtual_path = true },
	{ dir = "/sys", use_orig_path = true },
}
