-- Exec policies (docs/rules.md, "Exec rules"): how host-machine programs
-- are started, selected on the mapped path; target-machine programs always
-- run through the target's CPU transparency command.
-- simple: programs are the host's and run directly; gcc and the binutils
-- are the cross toolchain's.
enable_cross_gcc_toolchain = true
exec_policies = { { name = "Host" } }
exec_policy_selection = { { dir = "/", exec_policy_name = "Host" } }

-- Substitutes for programs inside a simulated chroot.
chroot_substitutes = import_from_fs_rule_library("chroot_exec")
