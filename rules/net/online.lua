-- Network mode "online" (the default): everything is allowed.
-- Format: docs/net-rules.md (Scratchbox2's net_rules, plus name_rules).
net_rule_file_interface_version = "100"

net_rules = {
	ipv4_out = { { allow = true } },
	ipv4_in = { { allow = true } },
	ipv6_out = { { allow = true } },
	ipv6_in = { { allow = true } },
}
