-- Network mode "localhost": only the loopback interface. A connection or
-- datagram to the wildcard address goes to 127.0.0.1 (::1), a bind to the
-- wildcard address binds 127.0.0.1 (::1); anything else is refused.
-- Only "localhost" names resolve.
net_rule_file_interface_version = "100"

net_rules = {
	ipv4_out = {
		{ address = "127.0.0.0/8", allow = true },
		{ address = "INADDR_ANY", allow = true, new_address = "127.0.0.1" },
		{ deny = true, errno = "EPERM" },
	},
	ipv4_in = {
		{ address = "127.0.0.0/8", allow = true },
		{ func_name = "bind", address = "INADDR_ANY", allow = true, new_address = "127.0.0.1" },
		{ func_name = "bind", deny = true, errno = "EADDRNOTAVAIL" },
		{ deny = true, errno = "EPERM" },
	},
	ipv6_out = {
		{ address = "::1", allow = true },
		{ address = "::ffff:127.0.0.0/104", allow = true },
		{ address = "IN6ADDR_ANY", allow = true, new_address = "::1" },
		{ deny = true, errno = "EPERM" },
	},
	ipv6_in = {
		{ address = "::1", allow = true },
		{ address = "::ffff:127.0.0.0/104", allow = true },
		{ func_name = "bind", address = "IN6ADDR_ANY", allow = true, new_address = "::1" },
		{ func_name = "bind", deny = true, errno = "EADDRNOTAVAIL" },
		{ deny = true, errno = "EPERM" },
	},
}

name_rules = {
	{ name = "localhost", allow = true },
	{ name = "localhost.localdomain", allow = true },
	{ name = "ip6-localhost", allow = true },
	{ name = "ip6-loopback", allow = true },
	{ name_suffix = ".localhost", allow = true },
	{ deny = true },
}
