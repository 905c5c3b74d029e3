{
  "schemaVersion": 1,
  "algorithm": "ed25519",
  "keyId": "9976e31c9c2799c4",
  "signature": "HeEIlasFHYSE10DbIWNZmzGu/pOqqknvqTgr4WDe95/W1O3C9tKhAlQ2i7oNKk1IorQ3WR0EmoNT+XGolSkaAg=="
}
