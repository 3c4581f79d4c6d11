-- Exec policies (DESIGN §7): how programs of the host's machine are started,
-- selected on the mapped path. Target-machine programs always run through
-- the target's CPU transparency command (qemu) with the target root as
-- library prefix.
-- emulate: programs of the target root, and those built in the work
-- directory, load the target root's libraries: a host-machine program
-- there is started by the target root's ld.so. No cross toolchain.
enable_cross_gcc_toolchain = false
exec_policies = {
	{ name = "Target", native_app_root = target_root },
	{ name = "Host" },
}
exec_policy_selection = {
	{ dir = session_dir, exec_policy_name = "Host" },
	{ dir = sbox_dir, exec_policy_name = "Host" },
	{ dir = target_root, exec_policy_name = "Target" },
	{ dir = sbox_workdir, exec_policy_name = "Target" },
	{ dir = "/", exec_policy_name = "Host" },
}
