-- Exec policies (docs/rules.md, "Exec rules"): how host-machine programs
-- are started, selected on the mapped path; target-machine programs always
-- run through the target's CPU transparency command.
-- emulate: programs of the target root, and those built in the work
-- directory, load the target root's libraries: a host-machine program
-- there is started by the target root's ld.so. No cross toolchain.
enable_cross_gcc_toolchain = false
local e = import_from_fs_rule_library("emulate_exec")
exec_policies = e.policies
exec_policy_selection = e.selection

-- Substitutes for programs inside a simulated chroot.
chroot_substitutes = import_from_fs_rule_library("chroot_exec")
