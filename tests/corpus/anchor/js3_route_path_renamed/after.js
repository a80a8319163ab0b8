const express = require('express');
const router = express.Router();

router.get('/members', async (req, res) => {
  const rows = await db.query(`SELECT * FROM users WHERE name = '${req.query.q}'`);
  res.json(rows);
});

router.get('/orders', async (req, res) => {
  const rows = await db.query(`SELECT * FROM orders WHERE ref = '${req.query.q}'`);
  res.json(rows);
});

describe('router', () => {
  it('lists users', async () => {
    const res = await request(app).get('/users');
    expect(res.status).toBe(200);
  });
});

module.exports = router;
