"""Services: the rules and the transactions. Views call these; these call models."""
