-- Exec policies of the emulate modes (emulate, emulate+toolchain): programs
-- of the target root, and those built in the work directory, load the
-- target root's libraries (a host-machine program there is started by the
-- target root's ld.so); sb2's own programs and everything else are the
-- host's.
return {
	policies = {
		{ name = "Target", native_app_root = target_root },
		{ name = "Host" },
	},
	selection = {
		{ dir = session_dir, exec_policy_name = "Host" },
		{ dir = sbox_dir, exec_policy_name = "Host" },
		{ dir = target_root, exec_policy_name = "Target" },
		{ dir = sbox_workdir, exec_policy_name = "Target" },
		{ dir = "/", exec_policy_name = "Host" },
	},
}
