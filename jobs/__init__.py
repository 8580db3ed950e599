"""Jobs: the toolkit's operations (prepare data, train, register, deploy, apply/destroy a stack)."""
