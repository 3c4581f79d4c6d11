-- Network mode "online_privatenets": loopback and the private address
-- ranges (RFC 1918, IPv6 unique local), nothing on the public Internet.
-- Names resolve (the resolver may be on a private network).
net_rule_file_interface_version = "100"

local private4 = {
	{ address = "127.0.0.0/8", allow = true },
	{ address = "10.0.0.0/8", allow = true },
	{ address = "172.16.0.0/12", allow = true },
	{ address = "192.168.0.0/16", allow = true },
}

local function chain(v4, bind_wildcard, last)
	local t = {}
	for _, r in ipairs(v4) do
		t[#t + 1] = r
	end
	if bind_wildcard then
		t[#t + 1] = { func_name = "bind", address = bind_wildcard, allow = true }
		t[#t + 1] = { func_name = "listen", address = bind_wildcard, allow = true }
		t[#t + 1] = { func_name = "bind", deny = true, errno = "EADDRNOTAVAIL" }
	end
	t[#t + 1] = last
	return t
end

local private6 = {
	{ address = "::1", allow = true },
	{ address = "fc00::/7", allow = true },
	{ address = "::ffff:127.0.0.0/104", allow = true },
	{ address = "::ffff:10.0.0.0/104", allow = true },
	{ address = "::ffff:172.16.0.0/108", allow = true },
	{ address = "::ffff:192.168.0.0/112", allow = true },
}

net_rules = {
	ipv4_out = chain(private4, nil, { deny = true, errno = "EPERM" }),
	ipv4_in = chain(private4, "INADDR_ANY", { deny = true, errno = "EPERM" }),
	ipv6_out = chain(private6, nil, { deny = true, errno = "EPERM" }),
	ipv6_in = chain(private6, "IN6ADDR_ANY", { deny = true, errno = "EPERM" }),
}
