-- Exec policies (DESIGN §7): how programs of the host's machine are started,
-- selected on the mapped path. Target-machine programs always run through
-- the target's CPU transparency command (qemu) with the target root as
-- library prefix.
-- nomap: nothing mapped; programs run directly.
enable_cross_gcc_toolchain = false
exec_policies = { { name = "Host" } }
exec_policy_selection = { { dir = "/", exec_policy_name = "Host" } }
