-- sb2's own files: the session directory, sb2's programs and rule files
-- are always used from the host, unmapped, in every mode.
fs_rule_lib_interface_version = "105"
return {
	{ dir = session_dir, use_orig_path = true, virtual_path = true },
	{ dir = sbox_dir, use_orig_path = true },
	{ dir = sbox_rules_dir, use_orig_path = true },
}
