-- A view of another root file system as "/": sb2's own files, the work
-- directory, the icecream daemon's socket and $HOME as they are (that is where the sources are), the
-- host's /proc, /dev and /sys, the session's private /tmp, then `extra`
-- (paths that stay the host's), and everything else from `root`,
-- read-only unless root is simulated (sb2 -R), or with `writable` as the
-- kernel's permissions say (install: _apt, a dropped-root process, must
-- write apt's cache). Used by the emulate modes and install (the target
-- root) and by tools (the tools root).
fs_rule_lib_interface_version = "105"

return function(root, extra, writable)
	local rules = {
		{ rules = import_from_fs_rule_library("sb2_own"), dir = "/" },
		{ dir = sbox_workdir, use_orig_path = true },
		-- The host's icecream daemon socket (icecc's first choices; a
		-- target root's /run holds no daemon).
		{ dir = "/run/icecc", use_orig_path = true },
		{ dir = "/var/run/icecc", use_orig_path = true },
	}
	if sbox_user_home_dir and sbox_user_home_dir ~= "/" then
		table.insert(rules, { dir = sbox_user_home_dir, use_orig_path = true })
	end
	for _, r in ipairs({
		{ dir = "/proc", rules = import_from_fs_rule_library("proc") },
		{ dir = "/", rules = import_from_fs_rule_library("private_tmp") },
		{ dir = "/dev", rules = import_from_fs_rule_library("dev") },
		{ dir = "/sys", rules = import_from_fs_rule_library("sys") },
	}) do
		table.insert(rules, r)
	end
	for _, r in ipairs(extra) do
		table.insert(rules, r)
	end
	if writable then
		table.insert(rules, { dir = "/", map_to = root })
	else
		table.insert(rules, { dir = "/", map_to = root, protection = readonly_fs_if_not_root })
	end
	return rules
end
