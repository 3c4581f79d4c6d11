-- Exec policies of the modes that run programs from a tools root (accel,
-- devel, tools): programs of the tools root load the tools root's
-- libraries; with `with_target`, host-machine programs of the target root
-- load the target's; sb2's own programs and everything else are the
-- host's.
return function(with_target)
	local policies = { { name = "Tools", native_app_root = tools } }
	local sel = {
		{ dir = session_dir, exec_policy_name = "Host" },
		{ dir = sbox_dir, exec_policy_name = "Host" },
	}
	if tools_root then
		table.insert(sel, { dir = tools_root, exec_policy_name = "Tools" })
	end
	if with_target then
		table.insert(policies, { name = "Target", native_app_root = target_root })
		table.insert(sel, { dir = target_root, exec_policy_name = "Target" })
	end
	table.insert(policies, { name = "Host" })
	table.insert(sel, { dir = "/", exec_policy_name = "Host" })
	return { policies = policies, selection = sel }
end
