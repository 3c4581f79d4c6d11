-- /proc: the host's. The procfs mapper makes readlink of
-- /proc/self/{exe,cwd,root,fd/N} return virtual paths.
fs_rule_lib_interface_version = "105"
return {
	{ dir = "/proc", custom_map_funct = sb2_procfs_mapper },
}
