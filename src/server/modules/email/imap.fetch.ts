import type { ImapFlowError } from 'imapflow';
import type { Database } from '../../platform/db/database.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import { connectImap, describeImapError, type ImapAccount, imapClient } from './imap.connection.js';
import type { AccessTokens } from './imap.oauth.js';
import * as repo from './imap.repository.js';
import type { SecretBox } from './imap.secrets.js';
import { findMailbox } from './mailboxes.repository.js';

/**
 * Reads single mails back from a mailbox's IMAP account, for metadata-only mailboxes, which
 * keep no copy: one short connection per read, a SEARCH by Message-ID in the folders the
 * mail can be in (the main folder, the processed folder, the sent folder).
 */
export class ImapMailReader {
  constructor(private readonly deps: { database: Database; box: SecretBox; tokens: AccessTokens }) {}

  async read(orgId: string, mailboxId: string, messageId: string): Promise<Buffer> {
    const account = await this.deps.database.withOrg(orgId, async (tx): Promise<ImapAccount | undefined> => {
      const mailbox = await findMailbox(tx, orgId, mailboxId);
      const settings = mailbox ? await repo.findSettings(tx, orgId, mailbox.id) : undefined;
      return mailbox && settings ? { mailbox, settings } : undefined;
    });
    if (!account) throw notFound('Original mail (its mailbox is gone)');
    const client = await imapClient(account, this.deps, { autoIdle: false });
    // A broken connection also rejects the command in progress, which reports it.
    client.on('error', () => undefined);
    try {
      await connectImap(client, account, this.deps);
    } catch (error) {
      throw new AppError('UNAVAILABLE', `The mailbox cannot be reached: ${describeImapError(error)}`, {
        cause: error,
      });
    }
    try {
      const { settings } = account;
      const folders = [settings.folder, settings.processedFolder, settings.sentFolder].filter(
        (folder): folder is string => Boolean(folder),
      );
      for (const folder of folders) {
        const found = await this.findIn(client, folder, messageId);
        if (found) return found;
      }
      throw notFound('Original mail (no longer in the mailbox)');
    } finally {
      await client.logout();
    }
  }

  private async findIn(
    client: Awaited<ReturnType<typeof imapClient>>,
    folder: string,
    messageId: string,
  ): Promise<Buffer | undefined> {
    let lock: Awaited<ReturnType<typeof client.getMailboxLock>>;
    try {
      lock = await client.getMailboxLock(folder);
    } catch (error) {
      // A processed or sent folder that does not exist holds nothing; anything else is a failure.
      if ((error as ImapFlowError).mailboxMissing) return undefined;
      throw error;
    }
    try {
      const uids = await client.search({ header: { 'message-id': messageId } }, { uid: true });
      if (!Array.isArray(uids)) throw new Error(`The server refused to search ${folder}`);
      for (const uid of uids) {
        const message = await client.fetchOne(
          String(uid),
          { uid: true, envelope: true, source: true },
          { uid: true },
        );
        // HEADER search matches substrings: only the exact Message-ID counts.
        if (message && message.envelope?.messageId === messageId && message.source) return message.source;
      }
      return undefined;
    } finally {
      lock.release();
    }
  }
}
