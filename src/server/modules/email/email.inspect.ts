import { classifyEmail } from './email.classify.js';
import { realSender } from './email.groups.js';
import { type ParseOptions, parseEmail } from './email.parse.js';
import { replyText } from './email.reply.js';
import { type ThreadingKeys, threadingKeys } from './email.threading.js';

/** Options for {@link inspectEmail}. */
export interface InspectOptions extends ParseOptions {
  /** Shown in the output so a line of CLI output can be matched to its file. */
  file?: string;
  replyDomain?: string;
}

/** What the inbound pipeline would decide about one message, as printed by `mail:inspect`. */
export interface EmailInspection {
  file?: string;
  messageId: string | null;
  from: string | null;
  requester: { address: string; name: string; via: 'group' | null; group: string | null } | null;
  subject: string;
  replyText: string;
  kind: 'normal' | 'auto_reply' | 'bounce' | 'spam';
  reason: string;
  failedRecipient?: string;
  attachments: { name: string; type: string; size: number; inline: boolean }[];
  threading: ThreadingKeys;
  problems: string[];
}

/** Parses, classifies and threads one raw message without touching any storage. */
export async function inspectEmail(
  raw: Buffer | string,
  options: InspectOptions = {},
): Promise<EmailInspection> {
  const parsed = await parseEmail(raw, options);
  const classification = classifyEmail(parsed);
  const sender = realSender(parsed);
  return {
    ...(options.file === undefined ? {} : { file: options.file }),
    messageId: parsed.messageId,
    from: parsed.from?.address ?? null,
    requester: sender.address ? sender : null,
    subject: parsed.subject,
    replyText: replyText(parsed.text).reply,
    kind: classification.kind,
    reason: classification.reason,
    ...(classification.failedRecipient ? { failedRecipient: classification.failedRecipient } : {}),
    attachments: parsed.attachments.map((part) => ({
      name: part.name,
      type: part.contentType,
      size: part.size,
      inline: part.inline,
    })),
    threading: threadingKeys(parsed, options.replyDomain ? { replyDomain: options.replyDomain } : {}),
    problems: parsed.problems,
  };
}
