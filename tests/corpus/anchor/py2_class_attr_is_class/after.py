"""Account service."""
from dataclasses import dataclass

RATE = 0.05


def make_report(accounts):
    def fmt(a):
        return "%s %.2f" % (a.owner, a.balance)

    lines = [fmt(a) for a in accounts if a.balance > 0]
    return "\n".join(lines)


def apply_interest(accounts, rate=RATE):
    for a in accounts:
        a.balance *= 1 + rate
    return accounts


@dataclass
class Account:
    owner: str
    balance: float = 0.0

    @property
    def label(self):
        return f"{self.owner}: {self.balance:.2f}"

    @label.setter
    def label(self, value):
        self.owner, _ = value.split(":", 1)

    def deposit(self, amount):
        if amount <= 0:
            raise ValueError("amount must be positive")
        self.balance += amount
        return self.balance

    def withdraw(self, amount):
        if amount > self.balance:
            raise ValueError("insufficient funds")
        self.balance -= amount
        return self.balance
