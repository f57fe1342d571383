import { describe, expect, it } from 'vitest';
import { clientGroup, createFailedAuthLimiter } from '../../src/core/auth/failed-auth-limiter.ts';

describe('clientGroup', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::ffff', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002:aaaa::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
  ])('%s is limited as %s', (address, group) => {
    expect(clientGroup(address)).toBe(group);
  });
});

describe('createFailedAuthLimiter', () => {
  it('blocks an address at its limit until its window ends', () => {
    let now = 1_000;
    const limiter = createFailedAuthLimiter({ perWindow: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(limiter.blockedForMs('a')).toBe(0);
      limiter.recordFailure('a');
    }
    expect(limiter.blockedForMs('a')).toBe(60_000);
    expect(limiter.blockedForMs('b')).toBe(0);
    now += 59_999;
    expect(limiter.blockedForMs('a')).toBe(1);
    now += 1;
    expect(limiter.blockedForMs('a')).toBe(0);
    limiter.recordFailure('a');
    expect(limiter.blockedForMs('a')).toBe(0);
  });

  it('holds at most maxAddresses, dropping the oldest windows first', () => {
    let now = 0;
    const limiter = createFailedAuthLimiter({ perWindow: 1, windowMs: 60_000, maxAddresses: 100, now: () => now });
    for (let i = 0; i < 1_000; i++) {
      now++;
      limiter.recordFailure(`client-${i}`);
    }
    // The newest hundred are remembered (and blocked); the rest were let go.
    expect(limiter.blockedForMs('client-999')).toBeGreaterThan(0);
    expect(limiter.blockedForMs('client-900')).toBeGreaterThan(0);
    expect(limiter.blockedForMs('client-899')).toBe(0);
    expect(limiter.blockedForMs('client-0')).toBe(0);
  });
});
