-- Exec policies (DESIGN §7): how programs of the host's machine are started,
-- selected on the mapped path. Target-machine programs always run through
-- the target's CPU transparency command (qemu) with the target root as
-- library prefix.
-- accel: programs from the tools root load the tools root's libraries;
-- host-machine programs of the target root the target's.
enable_cross_gcc_toolchain = true
exec_policies = {
	{ name = "Tools", native_app_root = tools },
	{ name = "Target", native_app_root = target_root },
	{ name = "Host" },
}
local sel = {
	{ dir = session_dir, exec_policy_name = "Host" },
	{ dir = sbox_dir, exec_policy_name = "Host" },
}
if tools_root then
	table.insert(sel, { dir = tools_root, exec_policy_name = "Tools" })
end
table.insert(sel, { dir = target_root, exec_policy_name = "Target" })
table.insert(sel, { dir = "/", exec_policy_name = "Host" })
exec_policy_selection = sel
