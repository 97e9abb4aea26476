"""Operations: database performance figures and answer-cache maintenance (admins only)."""
