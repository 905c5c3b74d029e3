{
  "schemaVersion": 1,
  "algorithm": "ed25519",
  "keyId": "9e46d51e346f931d",
  "signature": "x+BgTTXE+Zd+suGWiepPjim7gsWjjd0lQ58dvGfI10mvZhpeZxumFDtMZll+/xukTkE2UaTcVr5C/9eO2n4PDQ=="
}
