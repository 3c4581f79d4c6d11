-- Exec policies (docs/rules.md, "Exec rules"): how host-machine programs
-- are started, selected on the mapped path; target-machine programs always
-- run through the target's CPU transparency command.
-- accel (and devel, a link to it): programs from the tools root load the tools root's
-- libraries; host-machine programs of the target root the target's.
enable_cross_gcc_toolchain = true
local e = import_from_fs_rule_library("tools_exec")(true)
exec_policies = e.policies
exec_policy_selection = e.selection

-- Substitutes for programs inside a simulated chroot.
chroot_substitutes = import_from_fs_rule_library("chroot_exec")
