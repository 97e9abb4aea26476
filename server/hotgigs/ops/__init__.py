"""Operations tooling the deploy runs from the installed release (shipped in the wheel):
`hotgigs verify` (ops/verify.py) checks a fresh deployment from the edge host."""
