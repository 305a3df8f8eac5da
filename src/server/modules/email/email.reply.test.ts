import { describe, expect, it } from 'vitest';
import { replyText } from './email.reply.js';

describe('replyText', () => {
  it('strips a wrapped Gmail "On … wrote:" header and the quote', () => {
    const text = 'Thanks!\n\nOn Tue, Nov 24, 2026 at 9:00 AM Support <support@x.example>\nwrote:\n\n> old\n';
    expect(replyText(text)).toEqual({
      reply: 'Thanks!',
      quoted: expect.stringMatching(/^On Tue.*\n.*wrote:[\s\S]*> old$/),
    });
  });

  it('strips Outlook "-----Original Message-----" and From/Sent blocks', () => {
    expect(replyText('Yes.\n\n-----Original Message-----\nFrom: a\nSent: b\n\nold').reply).toBe('Yes.');
    expect(
      replyText('Yes.\n\nFrom: Support <s@x.example>\nSent: Tuesday\nTo: Bob\nSubject: x\n\nold').reply,
    ).toBe('Yes.');
    expect(replyText('Ja.\n\nVon: Support <s@x.example>\nGesendet: Dienstag\nAn: Bob\n\nalt').reply).toBe(
      'Ja.',
    );
  });

  it('strips German and French attribution lines', () => {
    expect(replyText('Danke.\n\nAm 24.11.2026 um 09:00 schrieb Support <s@x.example>:\n> alt').reply).toBe(
      'Danke.',
    );
    expect(
      replyText('Merci.\n\nLe 24 nov. 2026 à 09:00, Support <s@x.example> a écrit :\n> vieux').reply,
    ).toBe('Merci.');
  });

  it('cuts at the signature delimiter and mobile signatures', () => {
    expect(replyText('Works.\n-- \nCarla\nHead of IT').reply).toBe('Works.');
    expect(replyText('Ok\n\nSent from my iPhone').reply).toBe('Ok');
    expect(replyText('Ok\n\nVon meinem iPhone gesendet').reply).toBe('Ok');
  });

  it('keeps a single inline ">" line that is part of the prose', () => {
    const text = 'The log says\n> error 42\nand then it stops.';
    expect(replyText(text).reply).toBe(text);
  });

  it('keeps the text whole when it is nothing but quote', () => {
    expect(replyText('> only quote\n> here')).toEqual({ reply: '> only quote\n> here', quoted: '' });
  });

  it('keeps "on" sentences that are not attribution lines', () => {
    const text = 'On Monday the printer worked.\nThen it stopped.';
    expect(replyText(text).reply).toBe(text);
  });

  it('normalises CRLF', () => {
    expect(replyText('Hi\r\n\r\n> quoted\r\n> more').reply).toBe('Hi');
  });
});
