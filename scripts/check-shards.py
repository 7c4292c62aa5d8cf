#!/usr/bin/env python3
"""After compose.shards.yaml is up and two tenants are synced: every customer's Backups section is answered by
exactly the backups replica that owns its tenant's bucket (tenant FNV-1a hash % 64, replica i/2 owns buckets
b % 2 == i - 1), both replicas hold some, and together they hold every customer the assets service lists."""
import json, os, sys, urllib.request, urllib.error

token = os.environ["VECTIS_READ_TOKEN"]
shards = {1: "http://127.0.0.1:8083", 2: "http://127.0.0.1:8086"}


def get(url):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, None


def bucket(tenant):
    value = 0xCBF29CE484222325
    for byte in tenant.encode():
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value % 64


_, listing = get("http://127.0.0.1:8082/v1/customers")
customers = listing["customers"]
tenants = {c["tenant"] for c in customers}
if len(tenants) < 2:
    sys.exit(f"expected two tenants, assets lists {sorted(tenants)}")
held = {1: 0, 2: 0}
for customer in customers:
    owner = bucket(customer["tenant"]) % 2 + 1
    answers = {index: get(f"{base}/v1/customers/{customer['id']}/backups")[0] for index, base in shards.items()}
    if answers[owner] != 200 or answers[3 - owner] != 404:
        sys.exit(f"{customer['name']} ({customer['tenant']}): replica answers {answers}, expected only replica {owner}")
    held[owner] += 1
if min(held.values()) == 0:
    sys.exit(f"one replica holds nothing: {held}")
print(f"shards: replica 1 holds {held[1]} customers, replica 2 holds {held[2]}, of {len(customers)}")
