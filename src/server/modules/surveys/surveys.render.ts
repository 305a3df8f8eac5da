/** The survey mail's variables and the public pages of surveys. Everything shown is escaped. */

const LABELS: Record<number, string> = {
  5: 'Very satisfied',
  4: 'Satisfied',
  3: 'Neutral',
  2: 'Dissatisfied',
  1: 'Very dissatisfied',
};
const RATINGS = [5, 4, 3, 2, 1] as const;

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * The survey's variables for the organisation's `csat` mail template: `link` is
 * `{PUBLIC_URL}/csat/{token}`; each rating link adds `?rating=N`.
 */
export function surveyMailValues(link: string, validDays: number): Record<string, string> {
  return {
    'survey.url': link,
    'survey.valid_days': String(validDays),
    ...Object.fromEntries(
      RATINGS.map((rating) => [`survey.rating_url_${rating}`, `${link}?rating=${rating}`]),
    ),
  };
}

/** What a survey page shows. */
export type SurveyPage =
  | { state: 'invalid' }
  | { state: 'expired' }
  | { state: 'closed'; rating: number | null }
  | {
      state: 'open';
      action: string;
      number: string;
      rating: number | null;
      comment: string | null;
      saved: boolean;
    };

function layout(title: string, body: string): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="robots" content="noindex">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}textarea{width:100%}</style>',
    `</head><body>${body}</body></html>`,
  ].join('\n');
}

export function surveyPageHtml(page: SurveyPage): string {
  switch (page.state) {
    case 'invalid':
      return layout(
        'Survey link not valid',
        '<h1>This survey link is not valid</h1><p>Please use the link from your e-mail.</p>',
      );
    case 'expired':
      return layout('Survey closed', '<h1>This survey has expired</h1><p>Thank you all the same.</p>');
    case 'closed':
      return layout(
        'Survey closed',
        `<h1>This survey is closed</h1><p>${page.rating ? `Your answer (${page.rating} of 5) was kept. ` : ''}Answers can be changed for 7 days.</p>`,
      );
    case 'open': {
      const options = RATINGS.map(
        (rating) =>
          `<label><input type="radio" name="rating" value="${rating}"${rating === page.rating ? ' checked' : ''}> ${rating} &ndash; ${LABELS[rating]}</label><br>`,
      ).join('\n');
      return layout(
        `Ticket ${page.number}`,
        [
          page.saved && page.rating
            ? `<h1>Thank you!</h1><p>You rated ticket ${escapeHtml(page.number)} ${page.rating} of 5.</p>`
            : `<h1>How did we do on ticket ${escapeHtml(page.number)}?</h1>`,
          `<form method="post" action="${escapeHtml(page.action)}">`,
          options,
          '<p><label for="comment">Anything you would like to tell us?</label></p>',
          `<textarea id="comment" name="comment" rows="5" maxlength="2000">${escapeHtml(page.comment ?? '')}</textarea>`,
          '<p><button type="submit">Send</button></p>',
          '</form>',
        ].join('\n'),
      );
    }
  }
}
