-- Exec policies (docs/rules.md, "Exec rules"): how host-machine programs
-- are started, selected on the mapped path; target-machine programs always
-- run through the target's CPU transparency command.
-- emulate+toolchain: as emulate, with the cross toolchain.
enable_cross_gcc_toolchain = true
local e = import_from_fs_rule_library("emulate_exec")
exec_policies = e.policies
exec_policy_selection = e.selection

-- Substitutes for programs inside a simulated chroot.
chroot_substitutes = import_from_fs_rule_library("chroot_exec")
