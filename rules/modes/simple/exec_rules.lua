-- Exec policies (DESIGN §7): how programs of the host's machine are started,
-- selected on the mapped path. Target-machine programs always run through
-- the target's CPU transparency command (qemu) with the target root as
-- library prefix.
-- simple: programs are the host's and run directly; gcc and the binutils
-- are the cross toolchain's.
enable_cross_gcc_toolchain = true
exec_policies = { { name = "Host" } }
exec_policy_selection = { { dir = "/", exec_policy_name = "Host" } }
