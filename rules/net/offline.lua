-- Network mode "offline": no network at all, loopback included. Connecting
-- or sending fails with EPERM, binding with EADDRNOTAVAIL, and a name
-- lookup fails at once (EAI_NONAME / HOST_NOT_FOUND): no DNS query is sent.
net_rule_file_interface_version = "100"

local deny_in = {
	{ func_name = "bind", deny = true, errno = "EADDRNOTAVAIL" },
	{ deny = true, errno = "EPERM" },
}

net_rules = {
	ipv4_out = { { deny = true, errno = "EPERM" } },
	ipv4_in = deny_in,
	ipv6_out = { { deny = true, errno = "EPERM" } },
	ipv6_in = deny_in,
}

name_rules = {
	{ deny = true },
}
