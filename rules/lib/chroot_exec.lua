-- Programs that cannot do their work inside a simulated chroot, and what
-- runs instead (only for programs exec'd inside a chroot; see
-- docs/chroot.md). Each entry: name, the dirs it is found in (default
-- /bin /usr/bin /sbin /usr/sbin), `run` (a program of the chroot view; none
-- keeps the program) and `add_tail` (arguments appended; "@root" is the
-- chroot's host path). Each substitution is logged as a notice.
fs_rule_lib_interface_version = "105"
return {
	-- Static: it would read and write the host's /etc/ld.so.cache. With -r
	-- it works on the root (its own chroot() fails, and it carries on).
	{ name = "ldconfig", add_tail = { "-r", "@root" } },
	-- A chroot has no mounts of its own: the session's /proc, /sys and /dev
	-- are there already (chroot_mounts), and tmpfs would hide files.
	{ name = "mount", run = "/bin/true" },
	{ name = "umount", run = "/bin/true" },
	-- Yes, this is a chroot (the kernel's test compares /proc/1/root with /,
	-- which an unprivileged process may not read).
	{ name = "ischroot", run = "/bin/true" },
}
