"""ICMP echo: packets, sessions, schedules and reports (pure); sockets, the driver and the forked sender."""
