import { z } from 'zod';
import { MAIL_KINDS } from './mail-templates.defaults.js';

export const MailKindParams = z.object({ kind: z.enum(MAIL_KINDS) }).strict();

const Subject = z.string().trim().min(1).max(500);
const Text = z.string().min(1).max(50_000);
const Html = z.string().min(1).max(200_000).nullable();

export const PutMailTemplateBody = z
  .object({
    subject: Subject.describe('Mustache with plain `{{variables}}` only'),
    text: Text.describe('The plain-text body'),
    html: Html.optional().describe(
      'An HTML alternative; values are HTML-escaped. Null or left out: text only',
    ),
  })
  .strict();
export type PutMailTemplateBody = z.infer<typeof PutMailTemplateBody>;

/** A draft to preview; fields left out come from the template in use. */
export const MailTemplateDraft = z
  .object({ subject: Subject.optional(), text: Text.optional(), html: Html.optional() })
  .strict();
export type MailTemplateDraft = z.infer<typeof MailTemplateDraft>;

export const MailTemplateResponse = z.object({
  kind: z.enum(MAIL_KINDS),
  /** False while the built-in default applies. */
  custom: z.boolean(),
  subject: z.string(),
  text: z.string(),
  html: z.string().nullable(),
  variables: z.array(z.string()),
  updatedAt: z.string().nullable(),
});
export type MailTemplateResponse = z.infer<typeof MailTemplateResponse>;

export const MailTemplateList = z.object({ data: z.array(MailTemplateResponse) });

export const MailPreviewResponse = z.object({
  subject: z.string(),
  text: z.string(),
  html: z.string().nullable(),
});
