"""Stand-ins for Slack and WhatConverts: real loopback HTTP servers shared by the tests and `make demo`."""
