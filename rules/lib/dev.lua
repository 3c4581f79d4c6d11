-- /dev: the host's devices, except that init control can never be reached
-- and setting times on a device node is redirected to a dummy file (the
-- nodes belong to root; builds that "touch" them must not fail).
fs_rule_lib_interface_version = "105"
return {
	{ path = "/dev/initctl", set_path = session_dir .. "/no-initctl", virtual_path = true },
	{ dir = "/dev", func_class = FUNC_CLASS_SET_TIMES, set_path = session_dir .. "/dummy_file", virtual_path = true },
	{ dir = "/dev", use_orig_path = true },
}
