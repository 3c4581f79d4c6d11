-- Exec policies (DESIGN §7): how programs of the host's machine are started,
-- selected on the mapped path. Target-machine programs always run through
-- the target's CPU transparency command (qemu) with the target root as
-- library prefix.
-- emulate+toolchain: as emulate, with the cross toolchain.
enable_cross_gcc_toolchain = true
local e = import_from_fs_rule_library("emulate_exec")
exec_policies = e.policies
exec_policy_selection = e.selection
