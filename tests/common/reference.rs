//! An independent implementation of spec/contract.md, written from the spec
//! alone for the integration tests. It shares no code with the `state` crate
//! on purpose: the tests compare the server's answers with this model.

use std::collections::BTreeMap;

use serde_json::Value;

/// One custom_json operation as the test read it from the chain.
#[derive(Debug, Clone)]
pub struct RefOp {
    pub block: u64,
    pub trx_id: String,
    pub op_index: u32,
    pub id: String,
    pub required_auths: Vec<String>,
    pub required_posting_auths: Vec<String>,
    pub json: String,
    pub timestamp: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefAccount {
    pub balance: u64,
    pub power: u64,
    pub granted_in: u64,
    pub granted_out: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefTransfer {
    pub block: u64,
    pub trx_id: String,
    pub op_index: u32,
    pub from: String,
    pub to: String,
    pub amount: u64,
    pub memo: String,
}

/// A token as the test registers it.
#[derive(Debug, Clone)]
pub struct RefTokenDef {
    pub prefix: String,
    pub start_block: u64,
    pub transfers: bool,
    pub staking: bool,
    pub interval: u64,
    pub genesis_balances: BTreeMap<String, u64>,
    pub genesis_power: BTreeMap<String, u64>,
}

#[derive(Debug, Clone)]
pub struct RefToken {
    pub def: RefTokenDef,
    pub accounts: BTreeMap<String, RefAccount>,
    pub grants: BTreeMap<(String, String), u64>,
    /// account -> (start block, amount, installments paid)
    pub power_downs: BTreeMap<String, (u64, u64, u32)>,
    pub transfers: Vec<RefTransfer>,
    /// (trx id, op index) -> "applied" | "unsupported" | rejection reason
    pub outcomes: BTreeMap<(String, u32), String>,
}

const MAX_AMOUNT: u64 = i64::MAX as u64;

fn amount(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64().filter(|a| *a <= MAX_AMOUNT),
        Value::String(s) => {
            if s.is_empty() || s.len() > 20 || !s.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            s.parse::<u64>().ok().filter(|a| *a <= MAX_AMOUNT)
        }
        _ => None,
    }
}

pub fn valid_account(name: &str) -> bool {
    if name.len() < 3 || name.len() > 16 {
        return false;
    }
    for seg in name.split('.') {
        let chars: Vec<char> = seg.chars().collect();
        if chars.len() < 3 {
            return false;
        }
        if !chars[0].is_ascii_lowercase() {
            return false;
        }
        let last = chars[chars.len() - 1];
        if !(last.is_ascii_lowercase() || last.is_ascii_digit()) {
            return false;
        }
        if !chars
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        {
            return false;
        }
    }
    true
}

fn truncate_memo(s: &str) -> String {
    if s.len() <= 2048 {
        return s.to_string();
    }
    let mut end = 2048;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

impl RefToken {
    pub fn new(def: RefTokenDef) -> Self {
        let mut accounts: BTreeMap<String, RefAccount> = BTreeMap::new();
        for (name, v) in &def.genesis_balances {
            accounts.entry(name.clone()).or_default().balance += v;
        }
        for (name, v) in &def.genesis_power {
            accounts.entry(name.clone()).or_default().power += v;
        }
        RefToken {
            def,
            accounts,
            grants: BTreeMap::new(),
            power_downs: BTreeMap::new(),
            transfers: Vec::new(),
            outcomes: BTreeMap::new(),
        }
    }

    fn acct(&self, name: &str) -> RefAccount {
        self.accounts.get(name).copied().unwrap_or_default()
    }

    pub fn account(&self, name: &str) -> RefAccount {
        self.acct(name)
    }

    pub fn supply(&self) -> u128 {
        self.accounts
            .values()
            .map(|a| u128::from(a.balance) + u128::from(a.power))
            .sum()
    }

    pub fn holders(&self) -> u64 {
        self.accounts
            .values()
            .filter(|a| u128::from(a.balance) + u128::from(a.power) > 0)
            .count() as u64
    }

    /// Applies one operation whose id starts with this token's prefix (the
    /// caller did the longest-prefix choice).
    pub fn apply(&mut self, op: &RefOp) {
        let name = &op.id[self.def.prefix.len()..];
        let outcome = match self.run(op, name) {
            Ok(()) => "applied".to_string(),
            Err(reason) => reason.to_string(),
        };
        self.outcomes
            .insert((op.trx_id.clone(), op.op_index), outcome);
    }

    fn run(&mut self, op: &RefOp, name: &str) -> Result<(), &'static str> {
        if !["send", "power_up", "power_down", "power_grant"].contains(&name) {
            return Err("unsupported");
        }
        let payload: Value = serde_json::from_str(&op.json).map_err(|_| "invalid json")?;
        let Value::Object(payload) = payload else {
            return Err("invalid json");
        };
        let (sender, active) = if let Some(p) = op.required_posting_auths.first() {
            (p.clone(), false)
        } else if let Some(a) = op.required_auths.first() {
            (a.clone(), true)
        } else {
            return Err("no sender");
        };
        match name {
            "send" => {
                if !self.def.transfers {
                    return Err("transfers disabled");
                }
                if !active {
                    return Err("active authority required");
                }
                let to = match payload.get("to") {
                    Some(Value::String(s)) if valid_account(s) => s.clone(),
                    _ => return Err("invalid account"),
                };
                let amt = amount(payload.get("amount"))
                    .filter(|a| *a > 0)
                    .ok_or("invalid amount")?;
                let memo = match payload.get("memo") {
                    None => String::new(),
                    Some(Value::String(s)) => truncate_memo(s),
                    Some(_) => return Err("invalid memo"),
                };
                if to == sender {
                    return Err("cannot send to self");
                }
                let from_acct = self.acct(&sender);
                if from_acct.balance < amt {
                    return Err("insufficient balance");
                }
                let to_acct = self.acct(&to);
                let new_to = to_acct.balance.checked_add(amt).ok_or("overflow")?;
                self.accounts.entry(sender.clone()).or_default().balance -= amt;
                self.accounts.entry(to.clone()).or_default().balance = new_to;
                self.transfers.push(RefTransfer {
                    block: op.block,
                    trx_id: op.trx_id.clone(),
                    op_index: op.op_index,
                    from: sender,
                    to,
                    amount: amt,
                    memo,
                });
                Ok(())
            }
            "power_up" => {
                if !self.def.staking {
                    return Err("staking disabled");
                }
                if !active {
                    return Err("active authority required");
                }
                let amt = amount(payload.get("amount"))
                    .filter(|a| *a > 0)
                    .ok_or("invalid amount")?;
                let a = self.acct(&sender);
                if a.balance < amt {
                    return Err("insufficient balance");
                }
                let new_power = a.power.checked_add(amt).ok_or("overflow")?;
                let e = self.accounts.entry(sender).or_default();
                e.balance -= amt;
                e.power = new_power;
                Ok(())
            }
            "power_down" => {
                if !self.def.staking {
                    return Err("staking disabled");
                }
                if !active {
                    return Err("active authority required");
                }
                let amt = amount(payload.get("amount")).ok_or("invalid amount")?;
                if amt == 0 {
                    self.power_downs.remove(&sender);
                    return Ok(());
                }
                let a = self.acct(&sender);
                if amt > a.power - a.granted_out {
                    return Err("insufficient power");
                }
                self.power_downs.insert(sender, (op.block, amt, 0));
                Ok(())
            }
            "power_grant" => {
                if !self.def.staking {
                    return Err("staking disabled");
                }
                if !active {
                    return Err("active authority required");
                }
                let to = match payload.get("to") {
                    Some(Value::String(s)) if valid_account(s) => s.clone(),
                    _ => return Err("invalid account"),
                };
                if to == sender {
                    return Err("cannot grant to self");
                }
                let amt = amount(payload.get("amount")).ok_or("invalid amount")?;
                let key = (sender.clone(), to.clone());
                let old = self.grants.get(&key).copied().unwrap_or(0);
                let from = self.acct(&sender);
                let target = self.acct(&to);
                if amt > old {
                    let d = amt - old;
                    if from.power - from.granted_out < d {
                        return Err("insufficient power");
                    }
                    let out = from.granted_out.checked_add(d).ok_or("overflow")?;
                    let inn = target.granted_in.checked_add(d).ok_or("overflow")?;
                    self.accounts.entry(sender).or_default().granted_out = out;
                    self.accounts.entry(to).or_default().granted_in = inn;
                } else {
                    let d = old - amt;
                    self.accounts.entry(sender).or_default().granted_out -= d;
                    self.accounts.entry(to).or_default().granted_in -= d;
                }
                if amt == 0 {
                    self.grants.remove(&key);
                } else {
                    self.grants.insert(key, amt);
                }
                Ok(())
            }
            _ => Err("unsupported"),
        }
    }

    /// Pays the installments due at block `n`; call after all of n's ops.
    pub fn end_block(&mut self, n: u64) {
        let interval = self.def.interval;
        let mut finished = Vec::new();
        let due: Vec<(String, (u64, u64, u32))> = self
            .power_downs
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        for (account, (start, total, paid)) in due {
            let k = paid + 1;
            if start + u64::from(k) * interval != n {
                continue;
            }
            let installment = if k < 4 {
                total / 4
            } else {
                total - 3 * (total / 4)
            };
            let a = self.acct(&account);
            let x = installment.min(a.power - a.granted_out);
            let e = self.accounts.entry(account.clone()).or_default();
            e.power -= x;
            e.balance += x;
            if k == 4 {
                finished.push(account);
            } else if let Some(pd) = self.power_downs.get_mut(&account) {
                pd.2 = k;
            }
        }
        for account in finished {
            self.power_downs.remove(&account);
        }
    }
}

/// Runs a whole chain through several tokens with longest-prefix routing.
/// `blocks` yields (block number, ops in chain order), with every block
/// from the lowest start block to the target present (empty ones too).
pub fn run_chain(tokens: &mut [RefToken], blocks: &[(u64, Vec<RefOp>)]) {
    for (num, ops) in blocks {
        for op in ops {
            let owner = tokens
                .iter()
                .enumerate()
                .filter(|(_, t)| op.id.starts_with(&t.def.prefix))
                .max_by_key(|(_, t)| t.def.prefix.len())
                .map(|(i, _)| i);
            if let Some(i) = owner {
                if *num >= tokens[i].def.start_block {
                    tokens[i].apply(op);
                }
            }
        }
        for token in tokens.iter_mut() {
            if *num >= token.def.start_block {
                token.end_block(*num);
            }
        }
    }
}

/// Reads the custom_json operations of an appbase-form block (a
/// `block_api.get_block_range` entry), independently of the ingest crate.
pub fn ops_of_appbase_block(block: &Value) -> (u64, Vec<RefOp>) {
    let id = block["block_id"].as_str().expect("block_id");
    let num = u64::from_str_radix(&id[..8], 16).expect("id encodes number");
    let timestamp = block["timestamp"].as_str().unwrap_or_default().to_string();
    let trx_ids = block["transaction_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut ops = Vec::new();
    for (ti, trx) in block["transactions"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        for (oi, op) in trx["operations"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if op["type"] != "custom_json_operation" {
                continue;
            }
            let v = &op["value"];
            let strings = |k: &str| -> Vec<String> {
                v[k].as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            };
            ops.push(RefOp {
                block: num,
                trx_id: trx_ids[ti].as_str().expect("trx id").to_string(),
                op_index: oi as u32,
                id: v["id"].as_str().unwrap_or_default().to_string(),
                required_auths: strings("required_auths"),
                required_posting_auths: strings("required_posting_auths"),
                json: v["json"].as_str().unwrap_or_default().to_string(),
                timestamp: timestamp.clone(),
            });
        }
    }
    (num, ops)
}
