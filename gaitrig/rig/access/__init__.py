"""Who may do what: accounts, login sessions, display links, route permissions, the audit log
and network exposure."""
