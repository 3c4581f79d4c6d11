-- Exec policies (docs/rules.md, "Exec rules"): how host-machine programs
-- are started, selected on the mapped path; target-machine programs always
-- run through the target's CPU transparency command.
-- install: as emulate: programs of the target root load the target's
-- libraries; the host's programs the fs rules choose (accelerated dpkg,
-- apt, sh...) are the host's, with the host's libraries.
enable_cross_gcc_toolchain = false
local e = import_from_fs_rule_library("emulate_exec")
exec_policies = e.policies
exec_policy_selection = e.selection

-- Substitutes for programs inside a simulated chroot.
chroot_substitutes = import_from_fs_rule_library("chroot_exec")
