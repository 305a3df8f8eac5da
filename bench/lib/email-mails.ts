import { performance } from 'node:perf_hooks';
import MailComposer from 'nodemailer/lib/mail-composer';
import { Random } from './random.js';

/**
 * The inbound mail of bench/email.ts, generated and rendered to raw MIME before anything is
 * timed (so the client only streams bytes while measured): new mails from a set of senders,
 * replies threading onto them by In-Reply-To / References (a third of them onto an earlier
 * reply), small attachments on some, and a send order with some mails delivered twice —
 * half of the copies right behind the original (in flight together, on another connection:
 * the race on the unique Message-ID), half much later (the plain duplicate lookup).
 */

export interface InboundPlanOptions {
  mails: number;
  senders: number;
  replyShare: number;
  attachmentShare: number;
  duplicates: number;
  /** The mailbox address every mail goes to. */
  to: string;
  /** Mails per sender and mailbox the server accepts before quarantining (rate limit). */
  senderLimit: number;
  seed: number;
}

export interface PlannedMail {
  index: number;
  messageId: string;
  from: string;
  /** The mail this one replies to (In-Reply-To), if any. */
  parent: number | undefined;
  /** The new mail at the start of its thread (itself for a new mail). */
  root: number;
  hasAttachment: boolean;
  raw: Buffer;
}

export interface InboundPlan {
  mails: PlannedMail[];
  /** Indexes into `mails`, in send order; a duplicated mail appears twice. */
  order: number[];
  duplicated: Set<number>;
  /** Duplicates whose copy is sent right behind the original. */
  concurrentDuplicates: number;
  senders: number;
  /** Most mails (copies included) from one sender. */
  maxPerSender: number;
  rawBytes: number;
  buildMs: number;
}

/** Replies look this many mails back at least, so their parent was accepted long before. */
const MIN_REPLY_DISTANCE = 200;

const TOPICS = [
  'VPN drops every hour',
  'Invoice 4471 shows the wrong VAT rate',
  'Cannot log in after the password reset',
  'Printer on floor 3 is offline',
  'Order 88213 arrived damaged',
  'Refund not received yet',
  'Export to CSV times out',
  'Two-factor codes arrive late',
  'Shipping address change',
  'Dashboard shows no data since Monday',
  'Licence key rejected',
  'Mobile app crashes on start',
];
const SENTENCES = [
  'Since this morning nothing works as it should.',
  'I already restarted the device twice.',
  'The error message says "connection reset by peer".',
  'It started after the update last Thursday.',
  'Could you please look into this as soon as possible?',
  'Three colleagues in our team see the same.',
  'We need this fixed before the end of the month.',
  'I attached what I could find.',
  'Thanks in advance for your help.',
  'Our account number is 55-1029.',
];
const FIRST = [
  'anna',
  'ben',
  'carla',
  'david',
  'emma',
  'felix',
  'greta',
  'hugo',
  'ines',
  'jonas',
  'kim',
  'lena',
];
const LAST = [
  'meyer',
  'smith',
  'garcia',
  'novak',
  'rossi',
  'dubois',
  'jensen',
  'kowalski',
  'silva',
  'tanaka',
];

/** Builds the plan and renders every mail with nodemailer's MailComposer. */
export async function planInbound(options: InboundPlanOptions): Promise<InboundPlan> {
  const started = performance.now();
  const random = new Random(options.seed);
  const senders = Array.from({ length: options.senders }, (_, index) => {
    const first = FIRST[index % FIRST.length]!;
    const last = LAST[Math.floor(index / FIRST.length) % LAST.length]!;
    return {
      address: `${first}.${last}.${index + 1}@customer${index % 37}.example`,
      name: `${first.charAt(0).toUpperCase()}${first.slice(1)} ${last.charAt(0).toUpperCase()}${last.slice(1)}`,
    };
  });
  const perSender = new Array<number>(options.senders).fill(0);
  const mails: Array<Omit<PlannedMail, 'raw'> & { sender: number; subject: string; text: string }> = [];
  const threads = new Map<number, number[]>(); // root → its mails, oldest first
  let newMails = 0;
  const base = Date.UTC(2025, 0, 6, 8, 0, 0);
  for (let index = 0; index < options.mails; index += 1) {
    let parent: number | undefined;
    if (index >= MIN_REPLY_DISTANCE && random.chance(options.replyShare)) {
      // A thread whose sender is still well under the rate limit (copies count too).
      for (let attempt = 0; attempt < 20 && parent === undefined; attempt += 1) {
        const candidate = mails[random.int(index - MIN_REPLY_DISTANCE)]!;
        if (perSender[candidate.sender]! < options.senderLimit - 3) {
          const thread = threads.get(candidate.root)!;
          // A third of the replies answer the thread's latest earlier mail instead of its start.
          const eligible = thread.filter((member) => member <= index - MIN_REPLY_DISTANCE);
          parent = random.chance(1 / 3) ? eligible.at(-1)! : candidate.root;
        }
      }
    }
    const root = parent === undefined ? index : mails[parent]!.root;
    const sender = parent === undefined ? newMails++ % options.senders : mails[root]!.sender;
    perSender[sender]! += 1;
    const topic = parent === undefined ? random.pick(TOPICS) : mails[root]!.subject;
    const sentences = Array.from({ length: 2 + random.int(4) }, () => random.pick(SENTENCES));
    const quoted =
      parent === undefined
        ? ''
        : `\n\nOn Mon, 6 Jan 2025 at 09:00, Support wrote:\n> ${mails[parent]!.text.split('\n')[0]}\n> Kind regards`;
    mails.push({
      index,
      messageId: `<bench-${options.seed}-${index}.${random.hex(8)}@customer.example>`,
      from: senders[sender]!.address,
      sender,
      parent,
      root,
      hasAttachment: random.chance(options.attachmentShare),
      subject: topic,
      text: `${sentences.join(' ')}\n\n${senders[sender]!.name}${quoted}`,
    });
    if (parent === undefined) threads.set(index, [index]);
    else threads.get(root)!.push(index);
  }

  // Duplicates: mails whose sender has room for a copy; half concurrent, half late.
  const duplicated = new Set<number>();
  for (let tries = 0; duplicated.size < options.duplicates && tries < options.duplicates * 20; tries += 1) {
    const candidate = mails[random.int(mails.length)]!;
    if (duplicated.has(candidate.index) || perSender[candidate.sender]! >= options.senderLimit - 1) continue;
    duplicated.add(candidate.index);
    perSender[candidate.sender]! += 1;
  }
  const late = new Map<number, number[]>(); // position → copies sent there
  const order: number[] = [];
  let concurrentDuplicates = 0;
  let alternate = false;
  for (const mail of mails) {
    order.push(mail.index);
    for (const copy of late.get(mail.index) ?? []) order.push(copy);
    if (!duplicated.has(mail.index)) continue;
    alternate = !alternate;
    const at = mail.index + Math.max(1, Math.floor(options.mails / 10));
    if (alternate || at >= mails.length) {
      order.push(mail.index);
      concurrentDuplicates += 1;
    } else {
      late.set(at, [...(late.get(at) ?? []), mail.index]);
    }
  }

  const rendered: PlannedMail[] = [];
  let rawBytes = 0;
  for (const mail of mails) {
    const parent = mail.parent === undefined ? undefined : mails[mail.parent]!;
    const thread = parent ? threads.get(mail.root)!.filter((member) => member <= parent.index) : [];
    const sender = senders[mail.sender]!;
    const raw = await new MailComposer({
      from: { name: sender.name, address: sender.address },
      to: options.to,
      subject: parent ? `Re: ${mail.subject}` : mail.subject,
      text: mail.text,
      messageId: mail.messageId,
      date: new Date(base + mail.index * 1_000),
      ...(parent
        ? { inReplyTo: parent.messageId, references: thread.map((member) => mails[member]!.messageId) }
        : {}),
      ...(mail.hasAttachment
        ? {
            attachments: [
              {
                filename: `diagnostics-${mail.index}.bin`,
                contentType: 'application/octet-stream',
                content: Buffer.from(random.hex(2 * (1_024 + random.int(15_360))), 'hex'),
              },
            ],
          }
        : {}),
    })
      .compile()
      .build();
    rawBytes += raw.length;
    rendered.push({
      index: mail.index,
      messageId: mail.messageId,
      from: mail.from,
      parent: mail.parent,
      root: mail.root,
      hasAttachment: mail.hasAttachment,
      raw,
    });
  }
  return {
    mails: rendered,
    order,
    duplicated,
    concurrentDuplicates,
    senders: options.senders,
    maxPerSender: Math.max(...perSender),
    rawBytes,
    buildMs: performance.now() - started,
  };
}
