"""mailbot: a public consultation run over plain e-mail."""

__version__ = "0.1.0"
