/**
 * Public surface of campaigns (docs/campaigns.md): products and affiliate programs,
 * campaigns with their proposed timeline, approval into scheduled posts with tracked links,
 * conversions (postback, CSV, manual), reports with A/B verdicts, the content suite, and the
 * disclosure check scheduling runs on every target (installed when this module loads).
 */
import { installDisclosureCheck } from './disclosure.js';

installDisclosureCheck();

export { type CampaignsDeps } from './context.js';
export {
  addProduct,
  updateProduct,
  getProduct,
  listProducts,
  deleteProduct,
  importCatalogue,
  importProductPage,
  MAX_CSV_PRODUCTS,
  type ProductInput,
  type ProductView,
  type CatalogueReport,
} from './products.js';
export { productFromPage, type PageProduct } from './page-data.js';
export {
  createProgram,
  listPrograms,
  rotatePostbackSecret,
  commissionFor,
  type ProgramInput,
  type ProgramView,
} from './programs.js';
export {
  createCampaign,
  getCampaign,
  listCampaigns,
  editTimeline,
  approveCampaign,
  pauseCampaign,
  resumeCampaign,
  endCampaign,
  MAX_TIMELINE_ITEMS,
  type CreateCampaignInput,
  type CampaignView,
  type CampaignStatus,
  type TimelineEdit,
} from './campaigns.js';
export { proposeTimeline, templateText, CONTENT_KINDS, LINK_PLACEHOLDER, type ContentKind } from './timeline.js';
export {
  receivePostback,
  addConversion,
  importConversionsCsv,
  signPostback,
  itemSubId,
  type ConversionInput,
  type RecordedConversion,
} from './conversions.js';
export { setRate, listRates, getCampaignSettings, updateCampaignSettings, rateFor } from './money.js';
export { campaignReport, campaignsOverview, productsReport, type CampaignReport, type Figures } from './report.js';
export {
  compareVariants,
  erfc,
  twoProportionZ,
  fisherExact,
  ALPHA,
  MIN_CLICKS,
  type AbVerdict,
  type VariantFigures,
} from './ab-test.js';
export { generateCampaignContent, type ContentSuite, type GeneratedPost } from './content.js';
export {
  DISCLOSURE_RULES,
  DEFAULT_RULE,
  disclosureCheck,
  disclosureIndex,
  installDisclosureCheck,
  ruleFor,
  type DisclosureRule,
} from './disclosure.js';
