"""A small multi-language project in a tmp dir: each file defines something and uses a name
defined in another file, so the reference graph has edges across languages' own files."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLE: dict[str, str] = {
    "app/models.py": '''\
class Invoice:
    """An invoice."""

    def total(self, tax):
        return compute_tax(self.amount, tax)


def compute_tax(amount, rate):
    return amount * rate
''',
    "app/service.py": '''\
from app.models import Invoice, compute_tax


def make_invoice(amount):
    # Invoice in a comment is not a reference
    invoice = Invoice()
    invoice.amount = amount
    return invoice.total(compute_tax(amount, 0.2))
''',
    "app/cli.py": '''\
from app.service import make_invoice


def main():
    print(make_invoice(10))
''',
    "web/format.js": '''\
class Formatter {
  format(value) { return formatMoney(value); }
}
function formatMoney(v) { return "$" + v; }
const shout = (s) => s.toUpperCase();
''',
    "web/view.ts": '''\
interface Props { amount: number }
type Money = number;
enum Color { Red, Green }
class InvoiceView {
  render(p: Props): string { return formatMoney(p.amount); }
}
export function renderAll(xs: Props[]): string[] { return xs.map(x => new InvoiceView().render(x)); }
''',
    "web/widget.tsx": '''\
export function Badge(props: Props) { return <span>{formatMoney(props.amount)}</span>; }
''',
    "go/ledger.go": '''\
package ledger

type Ledger struct { entries []int }
type Store interface { Save(l *Ledger) error }

func NewLedger() *Ledger { return &Ledger{} }

func (l *Ledger) Balance() int { return Sum(l.entries) }
''',
    "go/sum.go": '''\
package ledger

func Sum(xs []int) int { t := 0; for _, x := range xs { t += x }; return t }
''',
    "rust/lib.rs": '''\
pub struct Account { balance: i64 }
pub enum Kind { Debit, Credit }
pub trait Audit { fn audit(&self) -> bool; }
impl Account {
    pub fn deposit(&mut self, n: i64) { self.balance += n; }
}
pub fn open_account() -> Account { Account { balance: 0 } }
''',
    "java/Bank.java": '''\
public class Bank {
    private Account account;
    public Bank() {}
    public int deposit(int n) { return Helper.clamp(n); }
}
interface Vault { void lock(); }
''',
    "java/Helper.java": '''\
class Helper {
    static int clamp(int n) { return Math.max(0, n); }
}
''',
    "c/util.c": '''\
struct point { int x; int y; };
typedef int money_t;
#define SQUARE(x) ((x) * (x))
int add(int a, int b) { return a + b; }
static char *name_of(int id) { return 0; }
''',
    "c/main.c": '''\
int main(void) { return add(1, 2); }
''',
    "cpp/shape.cpp": '''\
namespace geo {
class Shape {
 public:
  double area() const { return 0; }
};
}
double Circle::area() const { return 3.14 * add(1, 2); }
''',
    "ruby/report.rb": '''\
module Reports
  class Summary
    def render
      Formatter.new.call
    end

    def self.build
      new
    end
  end
end

def helper_method
  Reports::Summary.build
end
''',
    "README.md": "not code\n",
    "ignored/skip.py": "def should_not_appear():\n    pass\n",
    ".gitignore": "ignored/\n",
}


def write_sample(root: Path) -> Path:
    for rel, text in SAMPLE.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_sample(tmp_path / "project")
