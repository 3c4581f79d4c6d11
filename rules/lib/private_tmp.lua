-- A session-private /tmp and /var/tmp (and /dev/shm), unless the user asked
-- for the host's with `-O use-global-tmp`.
fs_rule_lib_interface_version = "105"
if has_mode_option("use-global-tmp") then
	return {
		{ dir = "/tmp", use_orig_path = true },
		{ dir = "/var/tmp", use_orig_path = true },
	}
end
return {
	{ dir = "/tmp", replace_by = session_dir .. "/tmp" },
	{ dir = "/var/tmp", replace_by = session_dir .. "/var/tmp" },
	{ dir = "/dev/shm", replace_by = session_dir .. "/tmp" },
}
