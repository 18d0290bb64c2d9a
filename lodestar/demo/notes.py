"""Chinese meeting-note and complaint texts with known sentiment, competitor and production-line mentions."""

from __future__ import annotations

import numpy as np

from lodestar.demo.names import COMPETITORS

OPENERS = ["今天拜访了{acct}，与{who}进行了沟通。", "本周与{acct}{who}开会，回顾了近期合作情况。",
           "和{acct}的{who}电话沟通了一小时。", "陪同技术同事到{acct}现场走访，{who}参加了会议。",
           "{acct}年度业务回顾会议，{who}出席。"]
POSITIVE = ["客户对我们的{product}质量非常满意，表示明年会扩大采购量。", "对方认可我们的交付准时率，愿意签订年度框架协议。",
            "客户称赞我们的技术支持响应很快，合作意愿很强。", "新品试用反馈很好，客户计划在全部门店推广。",
            "客户表示价格合理，服务到位，准备增加两个品类。", "对方对上次的解决方案很满意，主动介绍了兄弟单位。"]
NEUTRAL = ["客户询问了{product}的规格和价格，需要内部评估后再答复。", "双方确认了下季度的采购计划，数量与去年基本持平。",
           "客户要求我们提供最新的检测报告和资质文件。", "讨论了付款账期，客户希望保持现有条款。",
           "对方介绍了新的采购流程，后续需要走招标程序。", "客户提出希望定制包装规格，我们会评估可行性。"]
NEGATIVE = ["客户对最近两次送货延误非常不满，要求给出整改方案。", "对方反映{product}有质量问题，部分批次出现渗漏，情绪较大。",
            "客户抱怨价格上涨过快，考虑减少采购量。", "客户对售后响应速度很失望，说再这样会考虑更换供应商。",
            "发票多次开错，财务部门非常不满意。", "客户投诉包装破损严重，要求赔偿并退货。"]
COMPETITOR_LINES = {"positive": "客户也在接触{comp}，但认为我们的性价比更高。",
                    "neutral": "客户提到{comp}最近在报价，正在做比较。",
                    "negative": "{comp}给出了更低的报价，客户有意向转向{comp}。"}
UPGRADE_LINES = ["客户透露工厂计划从12月起进行产线升级，预计停产约六周，期间采购量会大幅减少。",
                 "对方说明年初前要完成产线升级改造，12月份的订单会明显下降。"]
UPGRADE_MENTION_HISTORIC = "客户提到去年做过一次产线升级，目前生产稳定。"
CLOSERS = ["下一步：一周内提交报价。", "下一步：安排技术人员上门。", "下一步：跟进样品测试结果。", "下一步：准备年度合同草案。", ""]

COMPLAINT_TEMPLATES = {
    "negative": ["{alias}投诉：{product}一批货有{n}箱包装破损，要求尽快补发。",
                 "{alias}反映{product}使用后有刺鼻气味，员工不愿意使用，希望退货。",
                 "{alias}的采购说{product}最近质量下降，和{comp}相比差距明显。",
                 "{alias}来电：送货比约定晚了{n}天，影响门店销售，要求赔偿。",
                 "{alias}表示我们的价格比{comp}贵了{n}%，如果不降价将转单。"],
    "neutral": ["{alias}询问{product}的退货流程和时限。", "{alias}要求补开{n}月份的发票。",
                "{alias}咨询{product}是否有{comp}同款规格的替代品。"],
}


def meeting_note(r: np.random.Generator, acct: str, who: str, product: str, sentiment: str,
                 competitor: str | None, upgrade: str | None) -> str:
    pool = {"positive": POSITIVE, "neutral": NEUTRAL, "negative": NEGATIVE}[sentiment]
    parts = [OPENERS[int(r.integers(0, len(OPENERS)))].format(acct=acct, who=who)]
    for i in r.choice(len(pool), size=2, replace=False):
        parts.append(pool[int(i)].format(product=product))
    if competitor:
        parts.append(COMPETITOR_LINES[sentiment].format(comp=competitor))
    if upgrade == "future":
        parts.append(UPGRADE_LINES[int(r.integers(0, len(UPGRADE_LINES)))])
    elif upgrade == "past":
        parts.append(UPGRADE_MENTION_HISTORIC)
    parts.append(CLOSERS[int(r.integers(0, len(CLOSERS)))])
    return "".join(parts)


def complaint_text(r: np.random.Generator, alias: str, product: str, with_competitor: bool) -> tuple[str, str | None]:
    comp = COMPETITORS[int(r.integers(0, len(COMPETITORS)))] if with_competitor else None
    pool = [t for t in COMPLAINT_TEMPLATES["negative"] + COMPLAINT_TEMPLATES["neutral"]
            if ("{comp}" in t) == with_competitor]
    t = pool[int(r.integers(0, len(pool)))]
    return t.format(alias=alias, product=product, comp=comp, n=int(r.integers(2, 12))), comp
