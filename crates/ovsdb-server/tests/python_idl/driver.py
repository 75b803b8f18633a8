"""Drives Open vSwitch's Python IDL for tests/python_idl.rs.

Usage: /usr/bin/python3 driver.py REMOTE SCHEMA

Reads one JSON command per line on stdin and answers each with one JSON
line on stdout. The IDL only runs while a command is being carried out, so
between commands the test can change the database (or restart its server)
behind the IDL's back.

Commands:
  {"cmd": "wait_equal", "expect": REPLICA, "timeout": SECS}
      run the IDL until its replica equals REPLICA;
      answers {"ok": bool, "replica": REPLICA}
  {"cmd": "wait_disconnected", "timeout": SECS}
      run the IDL until it notices that its server is gone; {"ok": bool}
  {"cmd": "txn", "ops": [OP...], "timeout": SECS}
      commit one transaction; answers {"status": "success" | ...}
      OP is one of
        {"op": "insert", "table": T, "as": LABEL, "set": {COL: VALUE}}
        {"op": "update", "table": T, "name": NAME, "set": {COL: VALUE}}
        {"op": "setkey", "table": T, "name": NAME, "column": C,
         "key": K, "value": V}
        {"op": "delete", "table": T, "name": NAME}
      where a VALUE that is a list of strings "@LABEL" refers to rows
      inserted earlier in the same transaction, or to existing rows by name.
  {"cmd": "quit"}

REPLICA is {"Logical_Switch": {NAME: {"external_ids": {..}, "ports": [NAME..]}},
            "Logical_Switch_Port": {NAME: {"addresses": [..], "external_ids": {..}}}},
keyed by name so that the test can compare it with the server's contents.
"""

import json
import sys
import time

import ovs.db.idl
import ovs.poller


def main():
    remote, schema = sys.argv[1], sys.argv[2]
    helper = ovs.db.idl.SchemaHelper(location=schema)
    helper.register_all()
    idl = ovs.db.idl.Idl(remote, helper)

    def run_until(pred, timeout):
        deadline = time.monotonic() + timeout
        while True:
            idl.run()
            if pred():
                return True
            if time.monotonic() > deadline:
                return False
            poller = ovs.poller.Poller()
            idl.wait(poller)
            poller.timer_wait(50)
            poller.block()

    def replica():
        switches = {
            row.name: {
                "external_ids": dict(row.external_ids),
                "ports": sorted(p.name for p in row.ports),
            }
            for row in idl.tables["Logical_Switch"].rows.values()
        }
        ports = {
            row.name: {
                "addresses": sorted(row.addresses),
                "external_ids": dict(row.external_ids),
            }
            for row in idl.tables["Logical_Switch_Port"].rows.values()
        }
        return {"Logical_Switch": switches, "Logical_Switch_Port": ports}

    def by_name(table, name):
        for row in idl.tables[table].rows.values():
            if row.name == name:
                return row
        raise KeyError("%s %s not in the replica" % (table, name))

    def txn(ops, timeout):
        if not run_until(idl.has_ever_connected, timeout):
            return {"status": "never connected"}
        t = ovs.db.idl.Transaction(idl)
        labels = {}

        def resolve(value):
            if isinstance(value, list) and all(
                isinstance(v, str) and v.startswith("@") for v in value
            ):
                return [labels.get(v[1:]) or by_name_any(v[1:]) for v in value]
            return value

        def by_name_any(name):
            for table in ("Logical_Switch_Port", "Logical_Switch"):
                try:
                    return by_name(table, name)
                except KeyError:
                    pass
            raise KeyError(name)

        for op in ops:
            kind, table = op["op"], op["table"]
            if kind == "insert":
                row = t.insert(idl.tables[table])
                labels[op["as"]] = row
            else:
                row = by_name(table, op["name"])
            if kind in ("insert", "update"):
                for column, value in op["set"].items():
                    setattr(row, column, resolve(value))
            elif kind == "setkey":
                row.setkey(op["column"], op["key"], op["value"])
            elif kind == "delete":
                row.delete()
        deadline = time.monotonic() + timeout
        status = t.commit()
        while status == ovs.db.idl.Transaction.INCOMPLETE:
            if time.monotonic() > deadline:
                t.abort()
                return {"status": "timed out"}
            idl.run()
            poller = ovs.poller.Poller()
            idl.wait(poller)
            t.wait(poller)
            poller.timer_wait(50)
            poller.block()
            status = t.commit()
        return {"status": ovs.db.idl.Transaction.status_to_string(status),
                "error": t.get_error()}

    for line in sys.stdin:
        cmd = json.loads(line)
        name = cmd["cmd"]
        if name == "quit":
            break
        elif name == "wait_equal":
            ok = run_until(lambda: replica() == cmd["expect"], cmd["timeout"])
            answer = {"ok": ok, "replica": replica()}
        elif name == "wait_disconnected":
            # The Python IDL has no public "is connected"; its session has.
            ok = run_until(lambda: not idl._session.is_connected(), cmd["timeout"])
            answer = {"ok": ok}
        elif name == "txn":
            answer = txn(cmd["ops"], cmd["timeout"])
        else:
            answer = {"error": "unknown command %s" % name}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    idl.close()


if __name__ == "__main__":
    main()
